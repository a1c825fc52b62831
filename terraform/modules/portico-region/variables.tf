variable "region" {
  description = "The AWS region this module is applied to; every resource stays in it (residency)."
  type        = string
  validation {
    condition     = contains(["us-east-1", "eu-central-1", "ca-central-1", "ap-southeast-2"], var.region)
    error_message = "The region must be one of Portico's regions (residency/regions.py)."
  }
}

variable "environment" {
  description = "Deployment name, e.g. production or staging; part of every name and tag."
  type        = string
  default     = "production"
}

variable "firms" {
  description = "Slugs of the firms pinned to this region; each gets its bucket portico-<region>-<slug>."
  type        = set(string)
  default     = []
  validation {
    condition     = alltrue([for slug in var.firms : can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", slug))])
    error_message = "Firm slugs are 3-40 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "web_principals" {
  description = "ARNs allowed to assume the web role (e.g. the web hosts' instance role)."
  type        = list(string)
}

variable "worker_principals" {
  description = "ARNs allowed to assume the worker role."
  type        = list(string)
}

variable "ops_principals" {
  description = "ARNs allowed to assume the ops role (vendor operators running the portico CLI)."
  type        = list(string)
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a KMS key scheduled for deletion is destroyed."
  type        = number
  default     = 30
}

variable "backup_lock_days" {
  description = "Object lock (compliance mode): no backup can be deleted or overwritten before this age."
  type        = number
  default     = 35
}

variable "access_log_days" {
  description = "How long S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
