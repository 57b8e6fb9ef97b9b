from datetime import UTC, datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

MIN_AGE = 16
MAX_AGE = 100
NAME_MAX_LENGTH = 100
# A join date outside these is a typo (0001, 9999): refused by validation, so the admin's date
# hierarchy and year arithmetic stay far from the calendar's ends.
JOINED_MIN = datetime(1900, 1, 1, tzinfo=UTC)
JOINED_MAX = datetime(2100, 1, 1, tzinfo=UTC)


class Employee(models.Model):
    # 64-bit key: the blog's TINYINT key stopped at 255 rows.
    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    age = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_AGE), MaxValueValidator(MAX_AGE)],
        help_text=f"Working age: {MIN_AGE} to {MAX_AGE}.",
    )
    joined_at = models.DateTimeField(
        default=timezone.now,
        validators=[MinValueValidator(JOINED_MIN), MaxValueValidator(JOINED_MAX)],
        help_text="Between 1900 and 2100.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The list and the API page by (name, id); this index serves that order, the name-prefix
        # search (LIKE 'q%' is a range on it) and the admin's ^name search.
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="employee_name_id_idx"),
            models.Index(fields=["joined_at"], name="employee_joined_at_idx"),
        ]

    def __str__(self) -> str:
        return self.name
