# runner-dashboard twin, dev: the real stack's dev.tfvars, with the node selector of the rehearsal placement role
# (bumble: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context = "honey"
environment     = "dev"
namespace       = "runner-dashboard-dev"
node_selector = {
  "gloriousflywheel.io/role" = "bumble"
}
image = "ghcr.io/tinyland-inc/runner-dashboard:latest"
