# Rehearsal knobs and the provider-free resources shared by every twin (each twin links this file).
# Nothing here talks to a cluster: terraform_data is built into the binary, so `init` needs no
# provider download. After an apply, gfwizard's rehearsal materialiser creates the `namespaces` and
# `workloads` outputs in the embedded rehearsal API.

variable "apply_delay_seconds" {
  description = "Rehearsal only: seconds the apply sleeps between namespaces and workloads (slow-apply and cancel tests). 0: no delay."
  type        = number
  default     = 0

  validation {
    condition     = var.apply_delay_seconds >= 0
    error_message = "apply_delay_seconds must be 0 or more."
  }
}

variable "inject_failure" {
  description = "Rehearsal only: make this stack's apply fail after its namespaces are created (resume tests)."
  type        = bool
  default     = false
}

resource "terraform_data" "namespace" {
  for_each = toset(local.namespaces)

  input = {
    name        = each.key
    environment = var.environment
    labels      = local.labels
  }
}

resource "terraform_data" "apply_delay" {
  count = var.apply_delay_seconds > 0 ? 1 : 0

  triggers_replace = [var.apply_delay_seconds]
  depends_on       = [terraform_data.namespace]

  provisioner "local-exec" {
    command = "sleep ${var.apply_delay_seconds}"
  }
}

resource "terraform_data" "injected_failure" {
  count = var.inject_failure ? 1 : 0

  depends_on = [terraform_data.apply_delay]

  provisioner "local-exec" {
    command = "echo 'rehearsal: injected apply failure in ${local.stack} (inject_failure = true)' >&2; exit 1"
  }
}

resource "terraform_data" "workload" {
  for_each = { for w in local.workloads : "${w.namespace}/${w.name}" => w }

  input      = each.value
  depends_on = [terraform_data.apply_delay, terraform_data.injected_failure]
}
