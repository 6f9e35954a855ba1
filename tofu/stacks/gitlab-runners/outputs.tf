# Same shape as the rehearsal twin's outputs (tofu/rehearsal/gitlab-runners). Job pods are created
# per CI job by the runner manager and are not listed.

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
      name           = helm_release.gitlab_runner.name
      replicas       = 1
      node_selector  = var.node_selector
      labels         = local.labels
      image          = local.image
      cpu_request    = var.cpu_request
      memory_request = var.memory_request
    },
  ]
}
