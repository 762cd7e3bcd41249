"""Roles, and the one table of the minimum role each operation of the contract needs.

tests/handlers/auth/test_roles.py checks that the table names every operationId of
contracts/openapi.yaml and nothing else, and that docs/security.md shows it as it is here.
"""

from collections.abc import Mapping
from enum import IntEnum


class Role(IntEnum):
    """What a principal may do; each role may do everything the roles below it may."""

    VIEWER = 1  # read: the GET operations
    RUNNER = 2  # also create and cancel work: runs, sim jobs, batches, imports, design, plans
    ADMIN = 3  # also manage projects; everything

    @property
    def label(self) -> str:
        """The role's name in keys, tokens and documents: `viewer`, `runner`, `admin`."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> "Role | None":
        """The role named `value` (case-insensitive), or None for anything else."""
        if isinstance(value, str):
            return _BY_LABEL.get(value.strip().lower())
        return None


_BY_LABEL = {role.label: role for role in Role}
PUBLIC = None  # no credentials needed
V, R, A = Role.VIEWER, Role.RUNNER, Role.ADMIN

# operationId -> the minimum role (None: public). Ordered as contracts/openapi.yaml.
MINIMUM_ROLE: Mapping[str, Role | None] = {
    "getHealth": PUBLIC,
    "createRun": R,
    "listRuns": V,
    "getRun": V,
    "getRunMetrics": V,
    "getRunReplay": V,
    "cancelRun": R,
    "listScenarios": V,
    "getApiHealth": PUBLIC,
    "listApiRuns": V,
    "createProject": A,
    "listProjects": V,
    "getProject": V,
    "updateProject": A,
    "importAsset": R,
    "importAssetFromPath": R,
    "listAssets": V,
    "getAsset": V,
    "getAssetPackage": V,
    "getAssetPreview": V,
    "segmentAsset": R,
    "getSegmentation": V,
    "buildLinkage": R,
    "getLinkage": V,
    "startSimRun": R,
    "getSimJobStatus": V,
    "getSimJobMetrics": V,
    "getSimJobReport": V,
    "cancelSimJob": R,
    "getSimStep": V,
    "getSimRunMetrics": V,
    "getSimRunReport": V,
    "getLatestBenchmark": V,
    "createPlan": R,
    "getPlan": V,
    "listRealityProfiles": V,
    "createBatch": R,
    "getBatch": V,
    "evaluateBatch": V,
    "compareRuns": R,
}
