# Access is the kubeconfig contract and nothing else: an explicit file (or the ambient lookup when
# empty) and the honey context. No host, token or exec block is ever configured here.
provider "kubernetes" {
  config_path    = var.k8s_config_path != "" ? var.k8s_config_path : null
  config_context = var.cluster_context
}

provider "helm" {
  kubernetes = {
    config_path    = var.k8s_config_path != "" ? var.k8s_config_path : null
    config_context = var.cluster_context
  }
}
