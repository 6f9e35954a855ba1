# Copied from tofu/stacks/arc-runners/variables.tf: the twin takes exactly the real stack's variables
# (tests/unit/test_stacks_twins.py keeps the two in step). Rehearsal-only knobs are in rehearsal.tf.

# The stack variables contract (docs/deployment-authority.md): every stack takes the same access and
# placement inputs; names are stable because the rehearsal twins and gfwizard deploy rely on them.

variable "k8s_config_path" {
  description = "Kubeconfig file for honey. Empty: the providers' ambient lookup (gfwizard deploy points KUBE_CONFIG_PATHS at $KUBECONFIG)."
  type        = string
  default     = ""
}

variable "cluster_context" {
  description = "Kubeconfig context of the one cluster, honey. Never a node role (bumble, sting) and never a legacy context."
  type        = string
  default     = "honey"

  validation {
    condition     = !contains(["bumble", "sting"], var.cluster_context)
    error_message = "bumble and sting are node roles inside honey, not clusters or contexts: use cluster_context = \"honey\"."
  }
}

variable "environment" {
  description = "Logical environment (dev or prod); both target honey and differ only in namespaces and sizes."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be a short lowercase name such as dev or prod."
  }
}

variable "namespace" {
  description = "Namespace of the stack's workloads in this environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label."
  }
}

variable "create_namespace" {
  description = "Create (and own) the namespace. Set false when it was created out of band together with the stack's secret."
  type        = bool
  default     = true
}

variable "node_selector" {
  description = "Node selector of the stack's placement role inside honey (e.g. kubernetes.io/hostname = bumble)."
  type        = map(string)

  validation {
    condition     = length(var.node_selector) > 0
    error_message = "node_selector must name the stack's placement role; an unplaced workload could land on any node."
  }
}

variable "tolerations" {
  description = "Tolerations of the stack's placement role."
  type = list(object({
    key      = string
    operator = optional(string, "Equal")
    value    = optional(string)
    effect   = optional(string)
  }))
  default = []
}

# arc-runners: GitHub Actions Runner Controller (gha-runner-scale-set-controller) and its runner
# scale sets (gha-runner-scale-set), from the official OCI charts.

variable "runners_namespace" {
  description = "Namespace of the runner scale sets, their listeners and ephemeral runners (the controller lives in var.namespace)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.runners_namespace))
    error_message = "runners_namespace must be a DNS label."
  }
}

variable "arc_chart_version" {
  description = "Version of both ARC charts (controller and scale set); they are released together."
  type        = string
  default     = "0.13.1"
}

variable "github_config_url" {
  description = "GitHub organization or repository the runners register with, e.g. https://github.com/tinyland-inc."
  type        = string
}

variable "github_config_secret" {
  description = "Pre-created Secret in runners_namespace with GitHub App keys (github_app_id, github_app_installation_id, github_app_private_key) or github_token."
  type        = string
  default     = "arc-github-config"
}

variable "runner_scale_sets" {
  description = "Runner scale sets keyed by name; the name is the runs-on label."
  type = map(object({
    min_runners  = optional(number, 0)
    max_runners  = optional(number, 4)
    runner_group = optional(string, "default")
    runner_image = optional(string, "ghcr.io/actions/actions-runner:latest")
  }))

  validation {
    condition     = alltrue([for s in values(var.runner_scale_sets) : s.min_runners >= 0 && s.max_runners >= s.min_runners])
    error_message = "each scale set needs 0 <= min_runners <= max_runners."
  }
}

variable "controller_cpu_request" {
  description = "CPU request of the ARC controller."
  type        = string
  default     = "100m"
}

variable "controller_memory_request" {
  description = "Memory request of the ARC controller."
  type        = string
  default     = "128Mi"
}
