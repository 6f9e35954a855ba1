# arc-runners, prod: on honey (the only cluster), placed on the sting node role. No secrets here:
# the GitHub App credentials are the pre-created Secret named by github_config_secret.
cluster_context   = "honey"
environment       = "prod"
namespace         = "arc-systems"
runners_namespace = "arc-runners"
node_selector = {
  "kubernetes.io/hostname" = "sting"
}
github_config_url = "https://github.com/tinyland-inc"
runner_scale_sets = {
  "gloriousflywheel" = {
    min_runners = 1
    max_runners = 8
  }
}
