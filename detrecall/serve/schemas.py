"""The request and response bodies as pydantic models: they validate requests and are the OpenAPI schema.

Nothing here names a file: ground truth and predictions are JSON values, a registered dataset
is a name in the store, so no field of a request is ever opened as a path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SkipValidation, Tag, TypeAdapter

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="letters, digits and . _ : - (128 at most)")]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[int, Field(ge=-(2**53), le=2**53)] | Annotated[str, Field(min_length=1, max_length=200)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Tags = Annotated[dict[Annotated[str, Field(min_length=1, max_length=100)], Text], Field(max_length=50)]
MaxDrop = Annotated[
    list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_.:-]{1,64})?=[0-9.]{1,20}%?$")]],
    Field(
        max_length=50, description='alert rules, e.g. ["AP=0.02", "recall=5%"] (absolute or relative drop)'
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EvaluationOptions(Strict):
    """detrecall.evaluate's options that a service may take (none of them names a file)."""

    protocol: Literal["coco", "voc"] = "coco"
    iou_thresholds: Annotated[list[Unit], Field(min_length=1, max_length=100)] | None = None
    max_dets: (
        Annotated[list[Annotated[int, Field(ge=1, le=100_000)]], Field(min_length=1, max_length=3)] | None
    ) = None
    recall_thresholds: Annotated[list[Unit], Field(min_length=1, max_length=1001)] | None = None
    category_ids: Annotated[list[Annotated[int, Field(ge=0, le=2**53)]], Field(max_length=100_000)] | None = (
        None
    )
    class_agnostic: bool = False
    iou_threshold: Unit | None = None
    score_threshold: Annotated[float, Field(ge=-1e300, le=1e300)] | None = None
    beta: Annotated[float, Field(gt=0.0, le=1e6)] | None = None
    target_recall: Unit | None = None
    target_precision: Unit | None = None
    point_max_dets: Annotated[int, Field(ge=1, le=100_000)] | None = None
    zero_division: Literal[0, 1] | None = None

    def keywords(self) -> dict[str, Any]:
        """The options given, as evaluate's flat keywords (protocol apart)."""
        return {
            k: v
            for k, v in self.model_dump(exclude={"protocol"}, exclude_unset=True).items()
            if v is not None
        }


class DetectionRequest(Strict):
    """Evaluate detections: against a registered `dataset` or an inline `ground_truth` (COCO JSON);
    without either, only the drift of the predictions is checked."""

    model: Name
    version: Text | None = None
    task: Literal["detection"] = "detection"
    dataset: Name | None = None
    ground_truth: dict[str, Any] | None = Field(None, description="a COCO instances file's JSON")
    predictions: Annotated[list[dict[str, Any]], SkipValidation] = Field(
        description="COCO results: [{image_id, category_id, bbox, score}, ...] (segmentation for segm)"
    )
    iou_type: Literal["bbox", "segm"] = "bbox"
    options: EvaluationOptions | None = None
    tags: Tags | None = None
    max_drop: MaxDrop | None = None


class ClassificationRequest(Strict):
    """Evaluate a classifier's labels; without `y_true`, only drift is checked."""

    model: Name
    version: Text | None = None
    task: Literal["classification"]
    y_true: Annotated[list[Label], Field(min_length=1, max_length=10_000_000)] | None = None
    y_pred: Annotated[list[Label], Field(min_length=1, max_length=10_000_000)]
    y_proba: (
        Annotated[list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=1)]
        | Annotated[
            list[
                Annotated[
                    list[Annotated[float, Field(ge=0.0, le=1.0)]], Field(min_length=2, max_length=10_000)
                ]
            ],
            Field(min_length=1),
        ]
        | None
    ) = Field(
        None, description="scores of the positive class (n,) or probabilities (n, K), columns in label order"
    )
    tags: Tags | None = None
    max_drop: MaxDrop | None = None


def _task(value: Any) -> str:
    if isinstance(value, dict):
        task = value.get("task", "detection")
        return task if task in ("detection", "classification") else "detection"
    return "detection"


EvaluationRequest = Annotated[
    Annotated[DetectionRequest, Tag("detection")] | Annotated[ClassificationRequest, Tag("classification")],
    Discriminator(_task),
]
EVALUATION_REQUEST: TypeAdapter[DetectionRequest | ClassificationRequest] = TypeAdapter(EvaluationRequest)


class BaselineRequest(Strict):
    run_id: Annotated[int, Field(ge=1, le=2**62)]


class Error(BaseModel):
    """Every 4xx/5xx answer."""

    error: str = Field(description="what is wrong, one line")
    where: str = Field(
        description="the part of the request: e.g. body.options.iou_thresholds[0], header.authorization"
    )


class AlertOut(BaseModel):
    id: int | None = None
    run_id: int | None = None
    model: str | None = None
    at: str | None = None
    rule: str
    metric: str
    category_id: str | None
    baseline: float | None
    current: float | None
    drop: float | None
    threshold: float
    statistic: float | None
    message: str


class EvaluationOut(BaseModel):
    run_id: int
    model: str
    version: str | None
    task: str
    baseline_run_id: int | None = Field(
        description="the run checked against; null when the model has no baseline yet"
    )
    result: dict[str, Any] = Field(
        description="evaluate --format json (without schema_version), or the classification report"
    )
    metrics: dict[str, Any] = Field(description="flat metrics: overall and per class")
    alerts: list[AlertOut]
    notes: list[str]


class RunSummary(BaseModel):
    id: int
    model: str
    version: str | None
    created_at: str
    task: str
    metrics: dict[str, float | None] = Field(description="overall flat metrics")
    tags: dict[str, str]
    alerts: int
    baseline: bool


class RunList(BaseModel):
    runs: list[RunSummary]


class RunOut(BaseModel):
    id: int
    model: str
    version: str | None
    created_at: str
    task: str
    params: dict[str, Any]
    result: dict[str, Any]
    metrics: dict[str, Any]
    stats: dict[str, Any] | None
    tags: dict[str, str]
    inputs: dict[str, Any]
    baseline: bool
    alerts: list[AlertOut]


class ModelOut(BaseModel):
    name: str
    runs: int
    baseline_run_id: int | None
    last_run_at: str | None


class ModelList(BaseModel):
    models: list[ModelOut]


class AlertList(BaseModel):
    alerts: list[AlertOut]


class BaselineOut(BaseModel):
    model: str
    baseline_run_id: int


class DatasetOut(BaseModel):
    name: str
    sha256: str
    images: int
    annotations: int
    categories: int
    created_at: str


class DatasetList(BaseModel):
    datasets: list[DatasetOut]


class Health(BaseModel):
    status: str
