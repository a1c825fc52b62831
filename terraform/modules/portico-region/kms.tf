# The region's KMS keys: storage (SSE-KMS of the firms' buckets), backups, and the platform key that
# seals the audit signing key and each backup's own key. Firms' key-encryption keys are created by
# Portico at onboarding (kms/aws.py, tagged portico:firm), allowed by the roles in iam.tf.

locals {
  key_admin_actions = [
    "kms:CancelKeyDeletion",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
  ]
  key_use_actions = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
  ]
}

data "aws_iam_policy_document" "storage_key" {
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" is this key alone; its principals are named.
  # checkov:skip=CKV_AWS_356:The same: in a key policy "*" cannot mean another resource.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = local.key_admin_actions
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "AppUsesItThroughS3Only"
    actions   = local.key_use_actions
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.web.arn, aws_iam_role.worker.arn, aws_iam_role.ops.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "storage" {
  description             = "Portico ${var.environment} ${var.region}: SSE-KMS of the firms' buckets"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.storage_key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "storage" {
  name          = "alias/portico-region/${var.environment}/storage"
  target_key_id = aws_kms_key.storage.key_id
}

data "aws_iam_policy_document" "backup_key" {
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" is this key alone; its principals are named.
  # checkov:skip=CKV_AWS_356:The same: in a key policy "*" cannot mean another resource.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = local.key_admin_actions
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "OpsWritesAndReadsBackupsThroughS3"
    actions   = local.key_use_actions
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.ops.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "backups" {
  description             = "Portico ${var.environment} ${var.region}: SSE-KMS of the backup bucket"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.backup_key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "backups" {
  name          = "alias/portico-region/${var.environment}/backups"
  target_key_id = aws_kms_key.backups.key_id
}

data "aws_iam_policy_document" "platform_key" {
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" is this key alone; its principals are named.
  # checkov:skip=CKV_AWS_356:The same: in a key policy "*" cannot mean another resource.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = local.key_admin_actions
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "AppSealsAndUnsealsPlatformSecrets"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.web.arn, aws_iam_role.worker.arn, aws_iam_role.ops.arn]
    }
    # Portico seals with an encryption context naming the purpose (kms/aws.py, tenants/ops/sealed.py).
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:portico:purpose"
      values   = ["platform-signing-key", "backup"]
    }
  }
}

resource "aws_kms_key" "platform" {
  description             = "Portico ${var.environment} ${var.region}: platform secrets (PORTICO_PLATFORM_KMS_KEY_ID)"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.platform_key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "platform" {
  name          = "alias/portico/platform"
  target_key_id = aws_kms_key.platform.key_id
}
