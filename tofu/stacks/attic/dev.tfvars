# attic, dev: on honey (the only cluster), placed on the bumble node role. No secrets here.
cluster_context = "honey"
environment     = "dev"
namespace       = "attic-dev"
node_selector = {
  "kubernetes.io/hostname" = "bumble"
}
storage_size = "20Gi"
