# runner-dashboard, prod: on honey (the only cluster), placed on the bumble node role. No secrets here.
# Pin the image to a released tag or digest before the first prod rollout.
cluster_context = "honey"
environment     = "prod"
namespace       = "runner-dashboard"
node_selector = {
  "kubernetes.io/hostname" = "bumble"
}
image = "ghcr.io/tinyland-inc/runner-dashboard:latest"
