# Same shape as the rehearsal twin's outputs (tofu/rehearsal/attic), so both can be shown alike.

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
      name           = kubernetes_deployment_v1.attic.metadata[0].name
      replicas       = 1
      node_selector  = var.node_selector
      labels         = local.labels
      image          = var.image
      cpu_request    = var.cpu_request
      memory_request = var.memory_request
    },
  ]
}

output "cache_url" {
  description = "In-cluster URL of the binary cache."
  value       = "http://${kubernetes_service_v1.attic.metadata[0].name}.${local.namespace}.svc.cluster.local:${local.port}"
}
