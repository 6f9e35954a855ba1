# Rehearsal twin of tofu/stacks/runner-dashboard: the runner status dashboard (one Deployment).
# Provider-free: it takes the same variables as the real stack and declares, in its outputs, the
# namespaces and workloads the real stack creates; terraform_data records them in state.

locals {
  stack = "runner-dashboard"
  labels = {
    "app.kubernetes.io/name"          = "runner-dashboard"
    "app.kubernetes.io/part-of"       = "gloriousflywheel"
    "app.kubernetes.io/managed-by"    = "opentofu"
    "gloriousflywheel.io/environment" = var.environment
  }
  namespaces = [var.namespace]
  workloads = [
    {
      namespace      = var.namespace
      kind           = "Deployment"
      name           = "runner-dashboard"
      replicas       = var.replicas
      node_selector  = var.node_selector
      labels         = local.labels
      image          = var.image
      cpu_request    = var.cpu_request
      memory_request = var.memory_request
    },
  ]
}
