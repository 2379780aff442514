// The FFmpeg headers Mouthpiece uses, plus the few macros Swift cannot import, as functions.
#pragma once
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersrc.h>
#include <libavfilter/buffersink.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libavutil/channel_layout.h>
#include <libavutil/tx.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

static inline int mp_averror(int e) { return AVERROR(e); }
static inline int mp_averror_eof(void) { return AVERROR_EOF; }
static inline int mp_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t mp_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline void mp_quiet_logs(void) { av_log_set_level(AV_LOG_ERROR); }
static inline void mp_silence_logs(void) { av_log_set_level(AV_LOG_QUIET); }
static inline int mp_buffersrc_keep_ref(void) { return AV_BUFFERSRC_FLAG_KEEP_REF; }
/// The rotation a stream's display matrix asks for, in degrees counter-clockwise (0 without one).
static inline double mp_stream_rotation(const AVStream *stream) {
    size_t size = 0;
    const uint8_t *matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!matrix || size < 9 * sizeof(int32_t)) return 0;
    double angle = av_display_rotation_get((const int32_t *)matrix);
    return angle == angle ? angle : 0;
}
