# gitlab-runners twin, prod: the real stack's prod.tfvars, with the node selector of the rehearsal placement role
# (sting: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context = "honey"
environment     = "prod"
namespace       = "gitlab-runners"
node_selector = {
  "gloriousflywheel.io/role" = "sting"
}
concurrent = 8
