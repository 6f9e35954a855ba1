# attic twin, prod: the real stack's prod.tfvars, with the node selector of the rehearsal placement role
# (bumble: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context = "honey"
environment     = "prod"
namespace       = "attic"
node_selector = {
  "gloriousflywheel.io/role" = "bumble"
}
storage_size = "200Gi"
