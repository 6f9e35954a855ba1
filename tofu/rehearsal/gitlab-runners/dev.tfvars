# gitlab-runners twin, dev: the real stack's dev.tfvars, with the node selector of the rehearsal placement role
# (sting: the rehearsal nodes carry gloriousflywheel.io/role). No secrets here.
cluster_context = "honey"
environment     = "dev"
namespace       = "gitlab-runners-dev"
node_selector = {
  "gloriousflywheel.io/role" = "sting"
}
concurrent = 2
