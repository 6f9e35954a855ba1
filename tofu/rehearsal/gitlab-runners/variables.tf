# Copied from tofu/stacks/gitlab-runners/variables.tf: the twin takes exactly the real stack's variables
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

# gitlab-runners: the GitLab Runner Helm chart (https://charts.gitlab.io), Kubernetes executor.

variable "chart_version" {
  description = "Version of the gitlab/gitlab-runner chart."
  type        = string
  default     = "0.77.0"
}

variable "runner_image_tag" {
  description = "Tag of registry.gitlab.com/gitlab-org/gitlab-runner; keep it matched to the chart's appVersion."
  type        = string
  default     = "alpine-v18.0.0"
}

variable "gitlab_url" {
  description = "GitLab instance the runner registers with."
  type        = string
  default     = "https://gitlab.com/"
}

variable "runner_token_secret" {
  description = "Pre-created Secret with keys runner-token (glrt- runner authentication token) and runner-registration-token (empty)."
  type        = string
  default     = "gitlab-runner-token"
}

variable "concurrent" {
  description = "Maximum number of jobs the runner manager runs at once."
  type        = number
  default     = 4
}

variable "job_image" {
  description = "Default image of CI jobs that do not name one."
  type        = string
  default     = "alpine:3.20"
}

variable "cpu_request" {
  description = "CPU request of the runner manager."
  type        = string
  default     = "100m"
}

variable "memory_request" {
  description = "Memory request of the runner manager."
  type        = string
  default     = "128Mi"
}
