# runner-dashboard, dev: on honey (the only cluster), placed on the bumble node role. No secrets here.
cluster_context = "honey"
environment     = "dev"
namespace       = "runner-dashboard-dev"
node_selector = {
  "kubernetes.io/hostname" = "bumble"
}
image = "ghcr.io/tinyland-inc/runner-dashboard:latest"
