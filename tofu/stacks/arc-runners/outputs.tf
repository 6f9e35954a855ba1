# Same shape as the rehearsal twin's outputs (tofu/rehearsal/arc-runners). Listener and runner pods
# are created by the controller from the scale sets, so they are listed in runner_scale_sets.

output "namespaces" {
  description = "Namespaces this stack's workloads live in (controller, then runners)."
  value       = [local.namespace, local.runners_namespace]
}

output "workloads" {
  description = "The stack's workloads: namespace, kind, name, replicas, node_selector, labels, image, requests."
  value = [
    {
      namespace      = local.namespace
      kind           = "Deployment"
      name           = local.controller_name
      replicas       = 1
      node_selector  = var.node_selector
      labels         = local.labels
      image          = "${local.controller_image}:${var.arc_chart_version}"
      cpu_request    = var.controller_cpu_request
      memory_request = var.controller_memory_request
    },
  ]
}

output "runner_scale_sets" {
  description = "Runner scale sets (runs-on labels) with their namespace and runner bounds."
  value = {
    for name, s in var.runner_scale_sets : name => {
      namespace   = local.runners_namespace
      min_runners = s.min_runners
      max_runners = s.max_runners
      release     = helm_release.scale_set[name].name
    }
  }
}
