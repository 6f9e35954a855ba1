locals {
  labels = {
    "app.kubernetes.io/name"          = "attic"
    "app.kubernetes.io/component"     = "nix-binary-cache"
    "app.kubernetes.io/part-of"       = "gloriousflywheel"
    "app.kubernetes.io/managed-by"    = "opentofu"
    "gloriousflywheel.io/environment" = var.environment
  }
  selector = {
    "app.kubernetes.io/name"          = "attic"
    "gloriousflywheel.io/environment" = var.environment
  }
  namespace = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace
  port      = 8080
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = local.labels
  }
}

resource "kubernetes_persistent_volume_claim_v1" "data" {
  metadata {
    name      = "attic-data"
    namespace = local.namespace
    labels    = local.labels
  }

  spec {
    access_modes       = ["ReadWriteOnce"]
    storage_class_name = var.storage_class_name != "" ? var.storage_class_name : null

    resources {
      requests = {
        storage = var.storage_size
      }
    }
  }

  # WaitForFirstConsumer storage classes bind only once the pod is scheduled on its node.
  wait_until_bound = false
}

resource "kubernetes_deployment_v1" "attic" {
  metadata {
    name      = "attic"
    namespace = local.namespace
    labels    = local.labels
  }

  spec {
    # One writer: SQLite and the local chunk store live on a ReadWriteOnce volume.
    replicas = 1

    strategy {
      type = "Recreate"
    }

    selector {
      match_labels = local.selector
    }

    template {
      metadata {
        labels = local.labels
      }

      spec {
        node_selector = var.node_selector

        dynamic "toleration" {
          for_each = var.tolerations
          content {
            key      = toleration.value.key
            operator = toleration.value.operator
            value    = toleration.value.value
            effect   = toleration.value.effect
          }
        }

        container {
          name  = "atticd"
          image = var.image
          args  = ["--config", "/etc/attic/server.toml", "--mode", "monolithic"]

          port {
            name           = "http"
            container_port = local.port
          }

          env {
            name = "ATTIC_SERVER_TOKEN_RS256_SECRET_BASE64"
            value_from {
              secret_key_ref {
                name = var.config_secret_name
                key  = "ATTIC_SERVER_TOKEN_RS256_SECRET_BASE64"
              }
            }
          }

          volume_mount {
            name       = "config"
            mount_path = "/etc/attic"
            read_only  = true
          }

          volume_mount {
            name       = "data"
            mount_path = "/var/lib/attic"
          }

          resources {
            requests = {
              cpu    = var.cpu_request
              memory = var.memory_request
            }
            limits = {
              cpu    = var.cpu_limit
              memory = var.memory_limit
            }
          }

          readiness_probe {
            tcp_socket {
              port = "http"
            }
            initial_delay_seconds = 5
            period_seconds        = 10
          }

          liveness_probe {
            tcp_socket {
              port = "http"
            }
            initial_delay_seconds = 30
            period_seconds        = 20
          }
        }

        volume {
          name = "config"
          secret {
            secret_name = var.config_secret_name
            items {
              key  = "server.toml"
              path = "server.toml"
            }
          }
        }

        volume {
          name = "data"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.data.metadata[0].name
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "attic" {
  metadata {
    name      = "attic"
    namespace = local.namespace
    labels    = local.labels
  }

  spec {
    type     = "ClusterIP"
    selector = local.selector

    port {
      name        = "http"
      port        = local.port
      target_port = "http"
    }
  }
}
