# Rehearsal twin of tofu/stacks/gitlab-runners: the GitLab Runner manager (one Deployment, Kubernetes executor).
# Provider-free: it takes the same variables as the real stack and declares, in its outputs, the
# namespaces and workloads the real stack creates; terraform_data records them in state.

locals {
  stack = "gitlab-runners"
  labels = {
    "app.kubernetes.io/name"          = "gitlab-runner"
    "app.kubernetes.io/part-of"       = "gloriousflywheel"
    "app.kubernetes.io/managed-by"    = "opentofu"
    "gloriousflywheel.io/environment" = var.environment
  }
  namespaces = [var.namespace]
  workloads = [
    {
      namespace      = var.namespace
      kind           = "Deployment"
      name           = "gitlab-runner"
      replicas       = 1
      node_selector  = var.node_selector
      labels         = local.labels
      image          = "registry.gitlab.com/gitlab-org/gitlab-runner:${var.runner_image_tag}"
      cpu_request    = var.cpu_request
      memory_request = var.memory_request
    },
  ]
}

# Rehearsal only: a sensitive input that flows into state, so the secret-canary tests can prove that a
# sensitive value never reaches a transcript, the journal or JSON output. The real stack reads its
# runner token from a pre-created Secret and has no such variable.
variable "rehearsal_runner_token" {
  description = "Rehearsal only: a fake runner authentication token (set TF_VAR_rehearsal_runner_token). Never a real one."
  type        = string
  default     = ""
  sensitive   = true
}

resource "terraform_data" "runner_token" {
  input = {
    secret = var.runner_token_secret
    token  = var.rehearsal_runner_token
  }
}
