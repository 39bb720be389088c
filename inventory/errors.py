"""Inventory rule violations, each with its API code and HTTP status."""

from erp.exceptions import ConflictError, DomainError, NotFoundError


class InsufficientStockError(ConflictError):
    code = "INSUFFICIENT_STOCK"


class MovementNotPendingError(ConflictError):
    code = "MOVEMENT_NOT_PENDING"


class InvalidMovementError(DomainError):
    code = "INVALID_MOVEMENT"


class UnknownArticleError(NotFoundError):
    code = "UNKNOWN_ARTICLE"


class UnknownWarehouseError(NotFoundError):
    code = "UNKNOWN_WAREHOUSE"


class ArticleExistsError(ConflictError):
    code = "ARTICLE_EXISTS"
