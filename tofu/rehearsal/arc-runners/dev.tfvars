# arc-runners twin, dev: the real stack's dev.tfvars, with the node selector of the rehearsal placement role
# (sting: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context   = "honey"
environment       = "dev"
namespace         = "arc-systems-dev"
runners_namespace = "arc-runners-dev"
node_selector = {
  "gloriousflywheel.io/role" = "sting"
}
github_config_url = "https://github.com/tinyland-inc"
runner_scale_sets = {
  "gloriousflywheel-dev" = {
    min_runners = 0
    max_runners = 2
  }
}
