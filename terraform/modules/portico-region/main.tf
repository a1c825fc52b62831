# Portico's resources in one region (SPEC §4, §10): the firms' buckets, the region's KMS keys, the
# backup and access-log buckets, and the IAM roles of the web, worker and ops processes.
# Apply it once per region, with a provider for that region (terraform/regions/<region>/).
# Nothing here replicates or copies data to another region.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  prefix    = "portico-${var.region}"
  # The app's default bucket naming (PORTICO_BUCKET_PATTERN, residency/regions.py).
  firm_buckets = { for slug in var.firms : slug => "${local.prefix}-${slug}" }
  tags = merge(var.tags, {
    "portico:environment" = var.environment
    "portico:region"      = var.region
  })
}

# The provider must be the region's: a module applied with another region's provider would put
# a region's firms elsewhere.
check "provider_is_the_regions" {
  assert {
    condition     = data.aws_region.current.name == var.region
    error_message = "The AWS provider's region must be var.region."
  }
}
