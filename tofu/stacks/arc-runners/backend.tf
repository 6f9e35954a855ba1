# State: the environment's S3-compatible bucket on honey (RustFS). Bucket, key, endpoint and locking
# come from the rendered partial configuration <env>.s3.tfbackend (dev.s3.tfbackend,
# prod.s3.tfbackend), written by `gfwizard backend render --env <env>`; credentials come from the
# AWS environment, never from a file. The generic HTTP backend (GitLab-managed state) is
# legacy-current: only the labelled transitional path `gfwizard backend migrate` reads from.
terraform {
  backend "s3" {}
}
