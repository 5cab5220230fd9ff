// Decoding JPEG (libjpeg-turbo) and PNG (libpng) from memory into 8-bit RGB, with the size
// checked against a limit before any pixel buffer is allocated. Library errors are caught
// (setjmp/longjmp) and returned as messages; nothing here exits or prints.
#ifndef CJARVIS_IMAGE_H
#define CJARVIS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    JI_OK = 0,
    JI_UNKNOWN_FORMAT = 1,   // neither a JPEG nor a PNG signature
    JI_TOO_LARGE = 2,        // width × height (or a side) beyond the limit; nothing allocated
    JI_CORRUPT = 3,          // the library refused the data; `message` says why
    JI_UNSUPPORTED = 4,      // valid but not decodable to RGB here (CMYK JPEG, …)
    JI_NO_MEMORY = 5,
};

enum { JI_FORMAT_NONE = 0, JI_FORMAT_JPEG = 1, JI_FORMAT_PNG = 2 };

typedef struct {
    int format;              // JI_FORMAT_*
    int width, height;       // as stored (before any EXIF orientation)
    uint8_t *pixels;         // width × height × 3 bytes, row-major RGB; free with ji_image_free
    uint8_t *exif;           // the JPEG APP1 "Exif" payload after its 6-byte header, or NULL
    size_t exif_size;
    char message[200];       // why decoding failed, when it did
} ji_image;

/// The format from the first bytes (JI_FORMAT_NONE if neither signature matches).
int ji_sniff(const uint8_t *data, size_t size);

/// Decodes `data` into `out` (zeroed first). Refuses images with more than `max_pixels` pixels
/// or a side over `max_side` with JI_TOO_LARGE after reading only the header. PNG transparency
/// is composited over white.
int ji_decode(const uint8_t *data, size_t size, int64_t max_pixels, int max_side, ji_image *out);

/// Frees what ji_decode allocated (safe on a zeroed or failed image).
void ji_image_free(ji_image *image);

/// Encodes width × height RGB pixels as an 8-bit PNG into a malloc'd buffer (*out, *size; free
/// it with free()). Returns JI_OK, or JI_NO_MEMORY / JI_CORRUPT with `message` filled.
int ji_encode_png(const uint8_t *rgb, int width, int height, uint8_t **out, size_t *size, char message[200]);

#ifdef __cplusplus
}
#endif

#endif
