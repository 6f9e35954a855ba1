# attic, prod: on honey (the only cluster), placed on the bumble node role. No secrets here.
cluster_context = "honey"
environment     = "prod"
namespace       = "attic"
node_selector = {
  "kubernetes.io/hostname" = "bumble"
}
storage_size = "200Gi"
