"""Python clients for the coursegen jobs API: `CourseClient` (sync), `AsyncCourseClient`.

```python
from coursegen.client import CourseClient

with CourseClient("http://127.0.0.1:8000") as client:
    job = client.create({"course_name": "Rust", "options": {"themes": 3}})
    for event in client.events(job["id"]):  # resumes by itself after a dropped connection
        print(event["id"], event["type"])
    course = client.get(job["id"])["course"]
```
"""

from coursegen.client._async import AsyncCourseClient
from coursegen.client._common import (
    CourseAPIError,
    CourseClientError,
    CourseConnectionError,
    CourseStreamError,
    Event,
    ExportFormat,
    SSEParser,
)
from coursegen.client._sync import CourseClient

__all__ = [
    "AsyncCourseClient",
    "CourseAPIError",
    "CourseClient",
    "CourseClientError",
    "CourseConnectionError",
    "CourseStreamError",
    "Event",
    "ExportFormat",
    "SSEParser",
]
