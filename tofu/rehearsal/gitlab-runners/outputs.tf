# The twin contract (shared with tofu/stacks/gitlab-runners/outputs.tf): what the materialiser creates.

output "namespaces" {
  description = "Namespaces this stack's workloads live in."
  value       = local.namespaces
}

output "workloads" {
  description = "The stack's workloads: namespace, kind, name, replicas, node_selector, labels, image, requests."
  value       = [for key, w in terraform_data.workload : w.output]
}
