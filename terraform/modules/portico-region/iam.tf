# Least privilege for the three kinds of process (infra/README.md): explicit actions only, on this
# region's resources only. Web and workers read and write firms' objects and use firms' keys; only
# ops (the portico CLI: onboarding, key rotation, erasure, offboarding, backups) creates or
# destroys buckets and keys. Firms' KMS keys are recognised by their portico:firm tag.

locals {
  firm_bucket_arns  = "arn:${local.partition}:s3:::${local.prefix}-*"
  firm_object_arns  = "arn:${local.partition}:s3:::${local.prefix}-*/*"
  backup_bucket_arn = aws_s3_bucket.data["backups"].arn
  region_keys_arn   = "arn:${local.partition}:kms:${var.region}:${local.account}:key/*"
  firm_alias_arn    = "arn:${local.partition}:kms:${var.region}:${local.account}:alias/portico/*"
  roles = {
    web    = var.web_principals
    worker = var.worker_principals
    ops    = var.ops_principals
  }
}

data "aws_iam_policy_document" "assume" {
  for_each = local.roles
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = each.value
    }
  }
}

resource "aws_iam_role" "web" {
  name                 = "portico-${var.environment}-${var.region}-web"
  assume_role_policy   = data.aws_iam_policy_document.assume["web"].json
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role" "worker" {
  name                 = "portico-${var.environment}-${var.region}-worker"
  assume_role_policy   = data.aws_iam_policy_document.assume["worker"].json
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role" "ops" {
  name                 = "portico-${var.environment}-${var.region}-ops"
  assume_role_policy   = data.aws_iam_policy_document.assume["ops"].json
  max_session_duration = 3600
  tags                 = local.tags
}

# What web and workers both need: firms' objects, firms' keys (through the tag), the platform key.
data "aws_iam_policy_document" "app" {
  statement {
    sid       = "FirmObjects"
    # DeleteObjectVersion: an upload whose inventory row could not be written removes exactly its version.
    actions   = ["s3:AbortMultipartUpload", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = [local.firm_object_arns]
  }
  statement {
    sid       = "FirmBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [local.firm_bucket_arns]
  }
  statement {
    sid       = "FirmKeys"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [local.region_keys_arn]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/portico:firm"
      values   = ["false"]
    }
  }
  statement {
    sid       = "StorageAndPlatformKeys"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.storage.arn, aws_kms_key.platform.arn]
  }
}

resource "aws_iam_role_policy" "web" {
  name   = "portico-app"
  role   = aws_iam_role.web.id
  policy = data.aws_iam_policy_document.app.json
}

resource "aws_iam_role_policy" "worker" {
  name   = "portico-app"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.app.json
}

data "aws_iam_policy_document" "ops" {
  source_policy_documents = [data.aws_iam_policy_document.app.json]
  statement {
    sid = "FirmBucketLifecycle"
    actions = [
      "s3:CreateBucket",
      "s3:DeleteBucket",
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:GetBucketPolicy",
      "s3:GetBucketTagging",
      "s3:GetBucketVersioning",
      "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration",
      "s3:ListBucketVersions",
      "s3:PutBucketPolicy",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketTagging",
      "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
    ]
    resources = [local.firm_bucket_arns, local.firm_object_arns]
  }
  statement {
    sid       = "CreateFirmKeysTagged"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"] # kms:CreateKey has no resource; the tag condition scopes it
    condition {
      test     = "Null"
      variable = "aws:RequestTag/portico:firm"
      values   = ["false"]
    }
  }
  statement {
    sid       = "ManageFirmKeys"
    actions   = ["kms:ListResourceTags", "kms:ScheduleKeyDeletion"]
    resources = [local.region_keys_arn]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/portico:firm"
      values   = ["false"]
    }
  }
  statement {
    sid       = "FirmKeyAliases"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = [local.firm_alias_arn, local.region_keys_arn]
  }
  statement {
    sid       = "ListAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"] # kms:ListAliases has no resource-level permission
  }
  statement {
    sid       = "Backups"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.backup_bucket_arn, "${local.backup_bucket_arn}/*"]
  }
  statement {
    sid       = "BackupKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.backups.arn]
  }
}

resource "aws_iam_role_policy" "ops" {
  name   = "portico-ops"
  role   = aws_iam_role.ops.id
  policy = data.aws_iam_policy_document.ops.json
}
