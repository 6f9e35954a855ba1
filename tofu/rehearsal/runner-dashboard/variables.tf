# Copied from tofu/stacks/runner-dashboard/variables.tf: the twin takes exactly the real stack's variables
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

# runner-dashboard: the runner status dashboard (a Deployment and a Service).

variable "image" {
  description = "Dashboard image (built from the runner-dashboard app); pin a tag or digest per environment."
  type        = string
}

variable "replicas" {
  description = "Number of dashboard replicas."
  type        = number
  default     = 1
}

variable "container_port" {
  description = "Port the dashboard listens on."
  type        = number
  default     = 3000
}

variable "service_port" {
  description = "Port of the ClusterIP Service."
  type        = number
  default     = 80
}

variable "health_path" {
  description = "HTTP path of the readiness and liveness probes."
  type        = string
  default     = "/api/health"
}

variable "env" {
  description = "Non-secret environment variables of the dashboard."
  type        = map(string)
  default     = {}
}

variable "env_secret_name" {
  description = "Pre-created Secret whose keys become environment variables (API tokens); empty for none."
  type        = string
  default     = ""
}

variable "cpu_request" {
  description = "CPU request of the dashboard."
  type        = string
  default     = "50m"
}

variable "memory_request" {
  description = "Memory request of the dashboard."
  type        = string
  default     = "64Mi"
}

variable "cpu_limit" {
  description = "CPU limit of the dashboard."
  type        = string
  default     = "500m"
}

variable "memory_limit" {
  description = "Memory limit of the dashboard."
  type        = string
  default     = "256Mi"
}
