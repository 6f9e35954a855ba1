# Rehearsal twin of tofu/stacks/arc-runners: the GitHub Actions Runner Controller (controller Deployment; runner namespace).
# Provider-free: it takes the same variables as the real stack and declares, in its outputs, the
# namespaces and workloads the real stack creates; terraform_data records them in state.

locals {
  stack = "arc-runners"
  labels = {
    "app.kubernetes.io/name"          = "arc-runners"
    "app.kubernetes.io/part-of"       = "gloriousflywheel"
    "app.kubernetes.io/managed-by"    = "opentofu"
    "gloriousflywheel.io/environment" = var.environment
  }
  namespaces = [var.namespace, var.runners_namespace]
  workloads = [
    {
      namespace      = var.namespace
      kind           = "Deployment"
      name           = "arc-${var.environment}-gha-rs-controller"
      replicas       = 1
      node_selector  = var.node_selector
      labels         = local.labels
      image          = "ghcr.io/actions/gha-runner-scale-set-controller:${var.arc_chart_version}"
      cpu_request    = var.controller_cpu_request
      memory_request = var.controller_memory_request
    },
  ]
}
