# Operator recipes: thin calls of gfwizard, on the same contract as the wizard and CI.
#   access: the kubeconfig file (cluster.kubeconfig or $KUBECONFIG) and context honey
#   state:  the environment's S3 bucket on honey (AWS_* credentials from the environment/profile)
# ENV is the logical environment (dev or prod); both deploy to honey:  just ENV=prod tofu-plan

ENV := env_var_or_default("ENV", "dev")

# list the recipes
default:
    @just --list

# render ENV's <env>.s3.tfbackend files, then check the bucket, versioning and the lock probe
tofu-init:
    gfwizard backend render --env {{ENV}}
    gfwizard backend check --env {{ENV}}

# plan every stack of ENV and summarise the plans (the gates run too); nothing is applied, no plan is kept
tofu-plan:
    gfwizard deploy --env {{ENV}} --plan-only

# plan and apply ENV's stacks in dependency order (asks first; prod asks for the environment name)
tofu-apply:
    gfwizard deploy --env {{ENV}}

# doctor (tools, config, cluster, backend), then plan and apply ENV
deploy:
    gfwizard doctor
    gfwizard deploy --env {{ENV}}

# read-only status of honey, the stacks and the state locks (safe during incidents)
status:
    gfwizard status

# check this checkout against the deployment-authority exit criteria
audit:
    gfwizard audit
