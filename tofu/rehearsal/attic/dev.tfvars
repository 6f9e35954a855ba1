# attic twin, dev: the real stack's dev.tfvars, with the node selector of the rehearsal placement role
# (bumble: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context = "honey"
environment     = "dev"
namespace       = "attic-dev"
node_selector = {
  "gloriousflywheel.io/role" = "bumble"
}
storage_size = "20Gi"
