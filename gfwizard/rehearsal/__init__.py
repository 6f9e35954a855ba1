"""The rehearsal environment: an embedded honey (TLS Kubernetes API), an embedded S3 endpoint and an
HTTP state server on 127.0.0.1, plus a workspace with a kubeconfig, an organization.yaml and the AWS
environment. Nothing real is touched. See DESIGN.md §5 "rehearsal".

Modules (imported on demand; none imports moto, boto3 or the Kubernetes client at import time):

* :mod:`gfwizard.rehearsal.apiserver` — ``RehearsalAPIServer``
* :mod:`gfwizard.rehearsal.s3` — ``RehearsalS3``
* :mod:`gfwizard.rehearsal.httpstate` — ``HttpStateServer``
* :mod:`gfwizard.rehearsal.workspace` — ``RehearsalEnvironment``
* :mod:`gfwizard.rehearsal.materialise` — ``materialise_stack`` (rehearsal only)
"""
