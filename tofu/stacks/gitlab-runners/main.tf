locals {
  labels = {
    "app.kubernetes.io/name"          = "gitlab-runner"
    "app.kubernetes.io/part-of"       = "gloriousflywheel"
    "app.kubernetes.io/managed-by"    = "opentofu"
    "gloriousflywheel.io/environment" = var.environment
  }
  release   = "gitlab-runner"
  namespace = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace
  image     = "registry.gitlab.com/gitlab-org/gitlab-runner:${var.runner_image_tag}"

  tolerations = [for t in var.tolerations : { for k, v in t : k => v if v != null }]

  # Job pods follow the same placement role as the runner manager.
  job_node_selector = join("\n", [for k, v in var.node_selector : "      ${jsonencode(k)} = ${jsonencode(v)}"])
  job_tolerations = join("\n", [
    for t in var.tolerations :
    "      ${jsonencode(t.value != null ? "${t.key}=${t.value}" : t.key)} = ${jsonencode(coalesce(t.effect, ""))}"
  ])
  runner_config = <<-EOT
    [[runners]]
      [runners.kubernetes]
        namespace = ${jsonencode(local.namespace)}
        image = ${jsonencode(var.job_image)}
      [runners.kubernetes.node_selector]
    ${local.job_node_selector}
      [runners.kubernetes.node_tolerations]
    ${local.job_tolerations}
  EOT
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = local.labels
  }
}

resource "helm_release" "gitlab_runner" {
  name       = local.release
  repository = "https://charts.gitlab.io"
  chart      = "gitlab-runner"
  version    = var.chart_version
  namespace  = local.namespace
  timeout    = 600

  values = [yamlencode({
    fullnameOverride = local.release
    image = {
      registry = "registry.gitlab.com"
      image    = "gitlab-org/gitlab-runner"
      tag      = var.runner_image_tag
    }
    gitlabUrl         = var.gitlab_url
    concurrent        = var.concurrent
    unregisterRunners = true
    rbac = {
      create = true
    }
    podLabels    = local.labels
    nodeSelector = var.node_selector
    tolerations  = local.tolerations
    resources = {
      requests = {
        cpu    = var.cpu_request
        memory = var.memory_request
      }
    }
    runners = {
      # The runner authentication token never passes through OpenTofu: the chart reads this Secret.
      secret = var.runner_token_secret
      config = local.runner_config
    }
  })]
}
