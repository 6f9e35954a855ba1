# Same shape as the rehearsal twin's outputs (tofu/rehearsal/runner-dashboard).

output "namespaces" {
  description = "Namespaces this stack's workloads live in."
  value       = [local.namespace]
}

output "workloads" {
  description = "The stack's workloads: namespace, kind, name, replicas, node_selector, labels, image, requests."
  value = [
    {
      namespace      = local.namespace
      kind           = "Deployment"
      name           = kubernetes_deployment_v1.dashboard.metadata[0].name
      replicas       = var.replicas
      node_selector  = var.node_selector
      labels         = local.labels
      image          = var.image
      cpu_request    = var.cpu_request
      memory_request = var.memory_request
    },
  ]
}

output "service_url" {
  description = "In-cluster URL of the dashboard."
  value       = "http://${kubernetes_service_v1.dashboard.metadata[0].name}.${local.namespace}.svc.cluster.local:${var.service_port}"
}
