// JPEG and PNG decoding into RGB with the size limit checked before allocation; see CJarvisImage.h.
//
// Both libraries report fatal errors through a callback that must not return; ours copies the
// message and longjmps back to the decode function, which frees what it allocated and returns
// an error code. Anything allocated between setjmp and a possible longjmp lives in `out` or in
// volatile locals, so it can still be freed after the jump.
#include "CJarvisImage.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <png.h>

int ji_sniff(const uint8_t *data, size_t size) {
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return JI_FORMAT_JPEG;
    static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) return JI_FORMAT_PNG;
    return JI_FORMAT_NONE;
}

void ji_image_free(ji_image *image) {
    free(image->pixels); image->pixels = NULL;
    free(image->exif); image->exif = NULL; image->exif_size = 0;
}

static int check_size(int64_t width, int64_t height, int64_t max_pixels, int max_side, ji_image *out) {
    if (width <= 0 || height <= 0) {
        snprintf(out->message, sizeof out->message, "the image claims %lld×%lld pixels", (long long)width, (long long)height);
        return JI_CORRUPT;
    }
    if (width > max_side || height > max_side || width * height > max_pixels) {
        snprintf(out->message, sizeof out->message,
                 "the image is %lld×%lld pixels, more than the limit of %lld pixels (%d per side)",
                 (long long)width, (long long)height, (long long)max_pixels, max_side);
        return JI_TOO_LARGE;
    }
    return JI_OK;
}

// ---- JPEG ---------------------------------------------------------------------------------------

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *message;
} jpeg_error;

static void jpeg_fail(j_common_ptr c) {
    jpeg_error *e = (jpeg_error *)c->err;
    char text[JMSG_LENGTH_MAX];
    (*c->err->format_message)(c, text);
    snprintf(e->message, 200, "%s", text);
    longjmp(e->jump, 1);
}

// Warnings (corrupt data that libjpeg can paper over, like a truncated scan) are not fatal: a
// photo cut short still shows most of itself.
static void jpeg_quiet(j_common_ptr c, int level) { (void)c; (void)level; }

// A progressive JPEG can hold thousands of tiny scans that cost minutes to decode; real ones
// have about ten.
static void jpeg_progress(j_common_ptr c) {
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > 200) {
        jpeg_error *e = (jpeg_error *)c->err;
        snprintf(e->message, 200, "the JPEG has more than 200 scans");
        longjmp(e->jump, 1);
    }
}

static int decode_jpeg(const uint8_t *data, size_t size, int64_t max_pixels, int max_side, ji_image *out) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jpeg_error err;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_quiet;
    err.message = out->message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        ji_image_free(out);
        return JI_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    progress.progress_monitor = jpeg_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);

    int status = check_size(cinfo.image_width, cinfo.image_height, max_pixels, max_side, out);
    if (status == JI_OK && (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK)) {
        snprintf(out->message, sizeof out->message, "CMYK JPEGs are not supported; save the photo as RGB");
        status = JI_UNSUPPORTED;
    }
    if (status != JI_OK) { jpeg_destroy_decompress(&cinfo); return status; }
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            out->exif = malloc(m->data_length - 6);
            if (out->exif) { memcpy(out->exif, m->data + 6, m->data_length - 6); out->exif_size = m->data_length - 6; }
            break;
        }
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        snprintf(out->message, sizeof out->message, "the JPEG decodes to %d channels, not RGB", cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        ji_image_free(out);
        return JI_UNSUPPORTED;
    }
    const size_t stride = (size_t)cinfo.output_width * 3;
    out->pixels = malloc(stride * cinfo.output_height);
    if (!out->pixels) {
        snprintf(out->message, sizeof out->message, "out of memory for a %u×%u image", cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        ji_image_free(out);
        return JI_NO_MEMORY;
    }
    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return JI_OK;
}

// ---- PNG ----------------------------------------------------------------------------------------

typedef struct { const uint8_t *data; size_t size, pos; } png_source;

static void png_read_memory(png_structp png, png_bytep dst, size_t n) {
    png_source *s = (png_source *)png_get_io_ptr(png);
    if (n > s->size - s->pos) png_error(png, "the file ends early (truncated PNG)");
    memcpy(dst, s->data + s->pos, n);
    s->pos += n;
}

static void png_fail(png_structp png, png_const_charp msg) {
    ji_image *out = (ji_image *)png_get_error_ptr(png);
    snprintf(out->message, sizeof out->message, "%s", msg);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static int decode_png(const uint8_t *data, size_t size, int64_t max_pixels, int max_side, ji_image *out) {
    png_source source = { data, size, 0 };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, out, png_fail, png_quiet);
    if (!png) { snprintf(out->message, sizeof out->message, "out of memory"); return JI_NO_MEMORY; }
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(out->message, sizeof out->message, "out of memory");
        return JI_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        ji_image_free(out);
        return JI_CORRUPT;
    }
    png_set_read_fn(png, &source, png_read_memory);
    // Our own limit decides (below); libpng's default would refuse only beyond 10^6 per side.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    const int64_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int status = check_size(width, height, max_pixels, max_side, out);
    if (status != JI_OK) { png_destroy_read_struct(&png, &info, NULL); return status; }

    // Everything to 8-bit RGBA; alpha is composited over white afterwards.
    const int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);      // no-op when alpha is already there
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * 4) png_error(png, "unexpected row size after conversion to RGBA");

    out->pixels = malloc((size_t)width * (size_t)height * 4);
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!out->pixels || !rows) png_error(png, "out of memory");
    for (int64_t y = 0; y < height; y++) rows[y] = out->pixels + (size_t)y * (size_t)width * 4;
    png_read_image(png, rows);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    // RGBA over white → RGB, in place (each write lands at or before the bytes it reads).
    const size_t n = (size_t)width * (size_t)height;
    uint8_t *p = out->pixels;
    for (size_t i = 0; i < n; i++) {
        const unsigned a = p[4 * i + 3];
        for (int c = 0; c < 3; c++) p[3 * i + c] = (uint8_t)((p[4 * i + c] * a + 255u * (255u - a) + 127u) / 255u);
    }
    uint8_t *shrunk = realloc(out->pixels, n * 3);
    if (shrunk) out->pixels = shrunk;
    out->width = (int)width;
    out->height = (int)height;
    return JI_OK;
}

int ji_decode(const uint8_t *data, size_t size, int64_t max_pixels, int max_side, ji_image *out) {
    memset(out, 0, sizeof *out);
    out->format = ji_sniff(data, size);
    switch (out->format) {
    case JI_FORMAT_JPEG: return decode_jpeg(data, size, max_pixels, max_side, out);
    case JI_FORMAT_PNG: return decode_png(data, size, max_pixels, max_side, out);
    default:
        snprintf(out->message, sizeof out->message, "not a JPEG or PNG image");
        return JI_UNKNOWN_FORMAT;
    }
}

// ---- PNG encoding -------------------------------------------------------------------------------

typedef struct { uint8_t *data; size_t size, capacity; int failed; char *message; } png_sink;

static void png_write_memory(png_structp png, png_bytep src, size_t n) {
    png_sink *s = (png_sink *)png_get_io_ptr(png);
    if (s->size + n > s->capacity) {
        size_t cap = s->capacity ? s->capacity : 4096;
        while (cap < s->size + n) cap *= 2;
        uint8_t *grown = realloc(s->data, cap);
        if (!grown) { s->failed = 1; png_error(png, "out of memory"); }
        s->data = grown;
        s->capacity = cap;
    }
    memcpy(s->data + s->size, src, n);
    s->size += n;
}

static void png_flush_nothing(png_structp png) { (void)png; }

static void png_fail_encode(png_structp png, png_const_charp msg) {
    png_sink *s = (png_sink *)png_get_error_ptr(png);
    snprintf(s->message, 200, "%s", msg);
    png_longjmp(png, 1);
}

int ji_encode_png(const uint8_t *rgb, int width, int height, uint8_t **out, size_t *size, char message[200]) {
    *out = NULL; *size = 0; message[0] = 0;
    // The sink changes inside libpng's callbacks and is read after a longjmp: it lives on the
    // heap, behind a pointer set before setjmp.
    png_sink *sink = calloc(1, sizeof *sink);
    if (!sink) { snprintf(message, 200, "out of memory"); return JI_NO_MEMORY; }
    sink->message = message;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, png_fail_encode, png_quiet);
    if (!png) { free(sink); snprintf(message, 200, "out of memory"); return JI_NO_MEMORY; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_write_struct(&png, NULL); free(sink); snprintf(message, 200, "out of memory"); return JI_NO_MEMORY; }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        const int failed = sink->failed;
        free(sink->data);
        free(sink);
        return failed ? JI_NO_MEMORY : JI_CORRUPT;
    }
    png_set_write_fn(png, sink, png_write_memory, png_flush_nothing);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * (size_t)width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = sink->data;
    *size = sink->size;
    free(sink);
    return JI_OK;
}
