# gitlab-runners, dev: on honey (the only cluster), placed on the sting node role. No secrets here:
# the runner authentication token is the pre-created Secret named by runner_token_secret.
cluster_context = "honey"
environment     = "dev"
namespace       = "gitlab-runners-dev"
node_selector = {
  "kubernetes.io/hostname" = "sting"
}
concurrent = 2
