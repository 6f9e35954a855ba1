# arc-runners, dev: on honey (the only cluster), placed on the sting node role. No secrets here:
# the GitHub App credentials are the pre-created Secret named by github_config_secret.
cluster_context   = "honey"
environment       = "dev"
namespace         = "arc-systems-dev"
runners_namespace = "arc-runners-dev"
node_selector = {
  "kubernetes.io/hostname" = "sting"
}
github_config_url = "https://github.com/tinyland-inc"
runner_scale_sets = {
  "gloriousflywheel-dev" = {
    min_runners = 0
    max_runners = 2
  }
}
