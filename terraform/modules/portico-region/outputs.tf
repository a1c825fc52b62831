output "firm_buckets" {
  description = "Firm slug to bucket name."
  value       = { for slug, name in local.firm_buckets : slug => aws_s3_bucket.data["firm-${slug}"].id }
}

output "backup_bucket" {
  value = aws_s3_bucket.data["backups"].id
}

output "role_arns" {
  value = { web = aws_iam_role.web.arn, worker = aws_iam_role.worker.arn, ops = aws_iam_role.ops.arn }
}

output "platform_key_arn" {
  description = "PORTICO_PLATFORM_KMS_KEY_ID for the processes of this region."
  value       = aws_kms_key.platform.arn
}

# The region's entry of PORTICO_REGIONS_FILE (residency/regions.py).
output "portico_region" {
  value = {
    (var.region) = {
      storage = { backend = "s3", bucket_pattern = "portico-{region}-{slug}", sse_kms_key = aws_kms_key.storage.arn }
      keys    = { provider = "aws" }
    }
  }
}
