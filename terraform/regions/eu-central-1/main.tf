# Portico in eu-central-1: apply with credentials of the production account, state in a bucket of the region:
#   terraform init -backend-config="bucket=<state bucket in eu-central-1>" -backend-config="region=eu-central-1"
#   terraform apply -var-file=production.tfvars
terraform {
  required_version = ">= 1.6"
  backend "s3" {
    key          = "portico/eu-central-1/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

variable "region" {
  type    = string
  default = "eu-central-1"
}

variable "firms" {
  description = "Slugs of the firms onboarded in eu-central-1 (portico tenants list --json)."
  type        = set(string)
  default     = []
}

variable "web_principals" {
  type = list(string)
}

variable "worker_principals" {
  type = list(string)
}

variable "ops_principals" {
  type = list(string)
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { "portico:managed-by" = "terraform" }
  }
}

module "portico" {
  source            = "../../modules/portico-region"
  region            = var.region
  environment       = "production"
  firms             = var.firms
  web_principals    = var.web_principals
  worker_principals = var.worker_principals
  ops_principals    = var.ops_principals
}

output "portico_region" {
  description = "This region's entry of PORTICO_REGIONS_FILE."
  value       = module.portico.portico_region
}

output "role_arns" {
  value = module.portico.role_arns
}

output "platform_key_arn" {
  value = module.portico.platform_key_arn
}
