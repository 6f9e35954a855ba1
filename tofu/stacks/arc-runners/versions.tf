terraform {
  # 1.10+: the S3 backend's use_lockfile (conditional writes) replaces a DynamoDB lock table.
  required_version = ">= 1.10.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.38"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
  }
}
