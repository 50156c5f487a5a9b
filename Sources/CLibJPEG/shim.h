// libjpeg-turbo 2.1 (Debian libjpeg62-turbo-dev): JPEG baseline and extended decoding of 8-bit
// samples. Debian builds it for 8-bit samples only, so 12-bit streams fail with libjpeg's message.
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg reports errors through error_exit, which must not return; the default one ends the
// process. Swift cannot use setjmp, so the whole decode call sits in this C function.

typedef struct {
    int width;
    int height;
    int components;
    int precision;
    char message[JMSG_LENGTH_MAX];
} stdnet_jpeg_result;

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    stdnet_jpeg_result *result;
} stdnet_jpeg_error;

static void stdnet_jpeg_error_exit(j_common_ptr info) {
    stdnet_jpeg_error *error = (stdnet_jpeg_error *)info->err;
    (*info->err->format_message)(info, error->result->message);
    longjmp(error->jump, 1);
}

// Warnings are not printed. Missing data (a premature end of the stream or of a scan) makes
// libjpeg fill the rest of the image with grey and only warn, so those warnings are kept and the
// decode fails.
static void stdnet_jpeg_emit_message(j_common_ptr info, int level) {
    stdnet_jpeg_error *error = (stdnet_jpeg_error *)info->err;
    if (level >= 0) {
        return;
    }
    info->err->num_warnings++;
    if (info->err->msg_code == JWRN_JPEG_EOF || info->err->msg_code == JWRN_HIT_MARKER) {
        if (error->result->message[0] == 0) {
            (*info->err->format_message)(info, error->result->message);
        }
    }
}

// Decodes one JPEG stream to 8-bit samples, colour-by-pixel. `color_space` is the JCS_* value of
// the stream's components (JCS_UNKNOWN lets libjpeg guess) and `output_space` the JCS_* value to
// convert to. Returns a malloc'd buffer the caller frees, or NULL with result->message set when
// libjpeg raises an error or the stream ends before the image does.
static inline unsigned char *stdnet_jpeg_decode(const unsigned char *data, unsigned long size, int color_space,
                                                int output_space, stdnet_jpeg_result *result) {
    struct jpeg_decompress_struct info;
    stdnet_jpeg_error error;
    unsigned char *volatile output = NULL;

    memset(result, 0, sizeof(*result));
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = stdnet_jpeg_error_exit;
    error.manager.emit_message = stdnet_jpeg_emit_message;
    error.result = result;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        free(output);
        return NULL;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    result->width = (int)info.image_width;
    result->height = (int)info.image_height;
    result->components = info.num_components;
    result->precision = info.data_precision;
    if (color_space != JCS_UNKNOWN) {
        info.jpeg_color_space = (J_COLOR_SPACE)color_space;
    }
    info.out_color_space = (J_COLOR_SPACE)output_space;
    info.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&info);

    size_t row = (size_t)info.output_width * (size_t)info.output_components;
    output = malloc(row * info.output_height);
    if (output == NULL) {
        snprintf(result->message, sizeof(result->message), "out of memory for %u rows", info.output_height);
        jpeg_destroy_decompress(&info);
        return NULL;
    }
    result->components = info.output_components;
    while (info.output_scanline < info.output_height) {
        JSAMPROW line = output + row * info.output_scanline;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    if (result->message[0] != 0) {
        free(output);
        return NULL;
    }
    return output;
}
