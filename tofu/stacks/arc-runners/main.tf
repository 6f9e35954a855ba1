locals {
  labels = {
    "app.kubernetes.io/name"          = "arc-runners"
    "app.kubernetes.io/part-of"       = "gloriousflywheel"
    "app.kubernetes.io/managed-by"    = "opentofu"
    "gloriousflywheel.io/environment" = var.environment
  }
  chart_repository = "oci://ghcr.io/actions/actions-runner-controller-charts"

  # dev and prod share honey, so each environment runs its own controller, named per environment
  # and watching only its own runners namespace.
  controller_release = "arc-${var.environment}"
  controller_name    = "${local.controller_release}-gha-rs-controller"
  controller_image   = "ghcr.io/actions/gha-runner-scale-set-controller"

  namespace         = var.create_namespace ? kubernetes_namespace_v1.controller[0].metadata[0].name : var.namespace
  runners_namespace = var.create_namespace ? kubernetes_namespace_v1.runners[0].metadata[0].name : var.runners_namespace

  # Drop unset fields so the chart renders clean tolerations.
  tolerations = [for t in var.tolerations : { for k, v in t : k => v if v != null }]
}

resource "kubernetes_namespace_v1" "controller" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = local.labels
  }
}

resource "kubernetes_namespace_v1" "runners" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.runners_namespace
    labels = local.labels
  }
}

resource "helm_release" "controller" {
  name       = local.controller_release
  repository = local.chart_repository
  chart      = "gha-runner-scale-set-controller"
  version    = var.arc_chart_version
  namespace  = local.namespace
  timeout    = 600

  values = [yamlencode({
    fullnameOverride = local.controller_name
    replicaCount     = 1
    image = {
      repository = local.controller_image
      tag        = var.arc_chart_version
    }
    serviceAccount = {
      create = true
      name   = local.controller_name
    }
    flags = {
      watchSingleNamespace = local.runners_namespace
    }
    podLabels    = local.labels
    nodeSelector = var.node_selector
    tolerations  = local.tolerations
    resources = {
      requests = {
        cpu    = var.controller_cpu_request
        memory = var.controller_memory_request
      }
    }
  })]
}

resource "helm_release" "scale_set" {
  for_each = var.runner_scale_sets

  name       = each.key
  repository = local.chart_repository
  chart      = "gha-runner-scale-set"
  version    = var.arc_chart_version
  namespace  = local.runners_namespace
  timeout    = 600

  values = [yamlencode({
    githubConfigUrl    = var.github_config_url
    githubConfigSecret = var.github_config_secret
    runnerScaleSetName = each.key
    runnerGroup        = each.value.runner_group
    minRunners         = each.value.min_runners
    maxRunners         = each.value.max_runners
    controllerServiceAccount = {
      namespace = local.namespace
      name      = local.controller_name
    }
    listenerTemplate = {
      spec = {
        nodeSelector = var.node_selector
        tolerations  = local.tolerations
        containers   = [{ name = "listener" }]
      }
    }
    template = {
      spec = {
        nodeSelector = var.node_selector
        tolerations  = local.tolerations
        containers = [{
          name    = "runner"
          image   = each.value.runner_image
          command = ["/home/runner/run.sh"]
        }]
      }
    }
  })]

  depends_on = [helm_release.controller]
}
