# Same backend contract as tofu/stacks/attic: a partial S3 configuration completed by the rendered
# <env>.s3.tfbackend (in rehearsal: $GFW_WORKSPACE/backends/attic/<env>.s3.tfbackend).
terraform {
  required_version = ">= 1.10.0"

  backend "s3" {}
}
