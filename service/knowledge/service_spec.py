"""The service definition (``cards/service.json``): discovery entry and the data each rule needs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from service.cdshooks.models import ServiceDefinition


class PrefetchSpec(BaseModel):
    """One prefetch template, the resource type it returns, and whether the rules cannot do without it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    query: str
    resource_type: str
    required: bool


class OrderServiceSpec(BaseModel):
    """A service on an order hook: same knowledge, engine and prefetch as the patient-view service."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str | None = None


class ServiceSpec(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str | None = None
    prefetch: dict[str, PrefetchSpec] = Field(default_factory=dict)
    order_services: tuple[OrderServiceSpec, ...] = ()

    def hook_of(self, service_id: str) -> str | None:
        """The hook the service ``service_id`` answers; None when no service has that id."""
        if service_id == self.id:
            return self.hook
        return next((s.hook for s in self.order_services if s.id == service_id), None)

    def discovery_entries(self) -> list[ServiceDefinition]:
        """Every service of the discovery document: patient-view first, then the order hooks."""
        query = {key: spec.query for key, spec in self.prefetch.items()}
        orders = [
            ServiceDefinition(
                hook=s.hook, title=s.title, description=s.description, id=s.id, prefetch=query,
                usage_requirements=s.usage_requirements,
            )
            for s in self.order_services
        ]
        return [self.discovery_entry(), *orders]

    def discovery_entry(self) -> ServiceDefinition:
        return ServiceDefinition(
            hook=self.hook,
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch={key: spec.query for key, spec in self.prefetch.items()},
            usage_requirements=self.usage_requirements,
        )

    @property
    def required_keys(self) -> frozenset[str]:
        return frozenset(key for key, spec in self.prefetch.items() if spec.required)
