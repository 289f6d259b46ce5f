// Loss log: CSV round trip and rejection of malformed rows; the PNG is a real PNG of the asked size.
#include "train/loss_log.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"

namespace muse::train {
namespace {

TEST(LossLogTest, CsvRoundTrips) {
  std::vector<LossPoint> pts = {{1, 2.5f, 1e-4f, 3.25f, 1234.5, 0.5}, {2, 2.25f, 2e-4f, 1.5f, 2000.0, 1.25}};
  const std::string csv = format_loss_csv(pts);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "step,loss,lr,grad_norm,tokens_per_s,elapsed_s");
  const std::vector<LossPoint> back = parse_loss_csv(csv, "x.csv");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].step, 2);
  EXPECT_EQ(back[1].loss, 2.25f);
  EXPECT_EQ(back[1].lr, 2e-4f);
  EXPECT_EQ(back[1].grad_norm, 1.5f);
  EXPECT_EQ(back[1].tokens_per_s, 2000.0);
  EXPECT_EQ(back[1].elapsed_s, 1.25);
}

TEST(LossLogTest, MalformedCsvNamesTheLine) {
  const std::string header = "step,loss,lr,grad_norm,tokens_per_s,elapsed_s\n";
  for (const std::string& bad : {header + "1,2,3,4,5\n", header + "1,2,3,4,5,6,7\n", header + "1,x,3,4,5,6\n",
                                 std::string("step,loss\n1,2\n")}) {
    try {
      parse_loss_csv(bad, "log.csv");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kCorruption);
      EXPECT_NE(std::string(e.what()).find("log.csv: line"), std::string::npos) << e.what();
    }
  }
}

TEST(LossLogTest, PlotIsAPngOfTheRequestedSize) {
  std::vector<LossPoint> pts;
  for (int i = 1; i <= 50; i++) pts.push_back({i, 3.0f / static_cast<float>(i), 1e-3f, 1.0f, 100.0, i * 0.1});
  for (const auto& input : {pts, std::vector<LossPoint>{}, std::vector<LossPoint>{pts[0]}}) {
    const std::vector<uint8_t> png = render_loss_plot_png(input, "test", 320, 200);
    ASSERT_GT(png.size(), 24u);
    EXPECT_EQ(std::memcmp(png.data(), "\x89PNG\r\n\x1a\n", 8), 0);
    // IHDR: width and height, big-endian, at offsets 16 and 20.
    auto be32 = [&](size_t o) { return (png[o] << 24) | (png[o + 1] << 16) | (png[o + 2] << 8) | png[o + 3]; };
    EXPECT_EQ(be32(16), 320);
    EXPECT_EQ(be32(20), 200);
  }
}

}  // namespace
}  // namespace muse::train
