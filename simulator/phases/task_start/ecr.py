"""ECR: registry auth (GetAuthorizationToken) and the image manifest (BatchGetImage), then the local image."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError, EndpointConnectionError

from ...docker.containers import ContainerDriver
from ...ecs import failures
from .units import AwsCall, ContainerInputs, ExecutionClients, StartContext, StartFailed

_ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)

WHY_PULL = (
    "the image is pulled by the ECS agent at task start with the task execution role, before any "
    "container (and so before the task role) exists"
)


@dataclass(frozen=True)
class EcrImage:
    uri: str
    registry: str
    region: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def image_id(self) -> dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag or "latest"}


def parse_ecr_image(image: str) -> EcrImage | None:
    match = _ECR_IMAGE.match(image)
    if not match:
        return None
    return EcrImage(
        image, match["registry"], match["region"], match["repository"], match["tag"], match["digest"]
    )


@dataclass
class EcrAuth:
    """GetAuthorizationToken, once per registry and region, as the agent's ECR credential cache does."""

    ctx: StartContext
    image: EcrImage
    containers: tuple[str, ...]
    kind: str = "ecr-auth"
    why: str = WHY_PULL

    @property
    def container(self) -> str | None:
        return self.containers[0]

    def calls(self) -> list[AwsCall]:
        return [AwsCall("ecr", "GetAuthorizationToken", {"registryIds": [self.image.registry]})]

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        try:
            answer = clients.client("ecr", self.image.region).get_authorization_token(
                registryIds=[self.image.registry]
            )
        except (ClientError, EndpointConnectionError) as err:
            text = failures.sdk_error_text(err) if isinstance(err, ClientError) else str(err)
            raise StartFailed(
                failures.registry_auth_failed(self.ctx.launch, self.containers[0], text)
            ) from err
        if not answer.get("authorizationData"):
            text = f"ecr auth: missing AuthorizationData in ECR response for {self.image.registry}"
            raise StartFailed(failures.registry_auth_failed(self.ctx.launch, self.containers[0], text))


@dataclass
class ImagePull:
    """Resolve a container's image to a local Docker image: ECR manifests via BatchGetImage and the
    world's tag mapping, other images used when present locally and pulled otherwise."""

    ctx: StartContext
    container_name: str
    image: str
    driver: ContainerDriver | None  # None: planning only (ecs-sim check)
    ecr_local_image: Callable[[str, str], str | None]  # (repository, tag) -> local image from the world
    kind: str = "image-pull"
    why: str = WHY_PULL

    @property
    def container(self) -> str | None:
        return self.container_name

    def calls(self) -> list[AwsCall]:
        ecr = parse_ecr_image(self.image)
        if ecr is None:
            return []
        return [
            AwsCall(
                "ecr",
                "BatchGetImage",
                {"registryId": ecr.registry, "repositoryName": ecr.repository, "imageIds": [ecr.image_id]},
            )
        ]

    def run(self, clients: ExecutionClients, inputs: dict[str, ContainerInputs]) -> None:
        assert self.driver is not None, "ImagePull.run needs a Docker driver"
        ecr = parse_ecr_image(self.image)
        target = inputs[self.container_name]
        if ecr is None:
            target.image = self._local_or_pulled(self.image)
            return
        try:
            answer = clients.client("ecr", ecr.region).batch_get_image(
                registryId=ecr.registry, repositoryName=ecr.repository, imageIds=[ecr.image_id]
            )
        except ClientError as err:
            error = err.response.get("Error", {})
            if error.get("Code") in ("AccessDeniedException", "AccessDenied"):
                failure = failures.image_pull_denied(
                    self.ctx.launch, self.container_name, self.image, error.get("Message", "")
                )
            elif error.get("Code") == "RepositoryNotFoundException":
                failure = failures.image_not_found(self.ctx.launch, self.container_name, self.image)
            else:
                failure = failures.image_pull_failed(
                    self.ctx.launch, self.container_name, self.image, failures.sdk_error_text(err)
                )
            raise StartFailed(failure) from err
        images = answer.get("images") or []
        if not images:
            raise StartFailed(failures.image_not_found(self.ctx.launch, self.container_name, self.image))
        found = images[0]
        tag = found.get("imageId", {}).get("imageTag") or ecr.tag or "latest"
        local = self.ecr_local_image(ecr.repository, tag)
        if local is None or not self.driver.image_present(local):
            detail = (
                f"{self.image}: not found"
                if local is None
                else f"local image {local} for {self.image}: not found"
            )
            raise StartFailed(
                failures.image_pull_failed(self.ctx.launch, self.container_name, self.image, detail)
            )
        target.image = local
        target.image_digest = found.get("imageId", {}).get("imageDigest")

    def _local_or_pulled(self, image: str) -> str:
        driver = self.driver
        assert driver is not None
        if driver.image_present(image):
            return image
        try:
            driver.pull(image)
        except Exception as err:  # the daemon's words are the reason, whatever went wrong
            detail = getattr(err, "explanation", None) or str(err)
            raise StartFailed(
                failures.image_pull_failed(self.ctx.launch, self.container_name, image, str(detail))
            ) from err
        return image
