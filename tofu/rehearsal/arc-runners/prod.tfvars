# arc-runners twin, prod: the real stack's prod.tfvars, with the node selector of the rehearsal placement role
# (sting: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context   = "honey"
environment       = "prod"
namespace         = "arc-systems"
runners_namespace = "arc-runners"
node_selector = {
  "gloriousflywheel.io/role" = "sting"
}
github_config_url = "https://github.com/tinyland-inc"
runner_scale_sets = {
  "gloriousflywheel" = {
    min_runners = 1
    max_runners = 8
  }
}
