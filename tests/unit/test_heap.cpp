// The timer heap: nodes come out in key order whatever the order of pushes,
// removals from the middle and key changes; each node always knows its place.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

extern "C" {
#include "rill_heap.h"
}

namespace {

void check_places(const rill_heap_t &h)
{
    for (int i = 0; i < h.n; i++) {
        ASSERT_EQ(i + 1, h.v[i]->index) << "node at " << i << " does not know its place";
        if (i > 0) ASSERT_LE(h.v[(i - 1) / 2]->key, h.v[i]->key) << "heap order broken at " << i;
    }
}

}  // namespace

TEST(Heap, RandomPushesRemovalsAndKeyChangesComeOutInOrder)
{
    std::mt19937 rng(7);
    std::vector<rill_heap_node_t> nodes(500);
    rill_heap_t h = {};
    for (auto &x : nodes) {
        x.key = (int64_t)(rng() % 1000);
        x.index = 0;
        ASSERT_EQ(0, rill_heap_push(&h, &x));
    }
    check_places(h);
    // a third leave from wherever they are; a third get new keys
    for (size_t i = 0; i < nodes.size(); i += 3) rill_heap_remove(&h, &nodes[i]);
    for (size_t i = 1; i < nodes.size(); i += 3) {
        nodes[i].key = (int64_t)(rng() % 1000);
        rill_heap_fix(&h, &nodes[i]);
    }
    check_places(h);
    rill_heap_remove(&h, &nodes[0]);    // not in it any more: a no-op
    EXPECT_EQ(0, nodes[0].index);
    std::vector<int64_t> want;
    for (size_t i = 0; i < nodes.size(); i++)
        if (i % 3) want.push_back(nodes[i].key);
    std::sort(want.begin(), want.end());
    std::vector<int64_t> got;
    while (rill_heap_node_t *top = rill_heap_top(&h)) {
        got.push_back(top->key);
        rill_heap_remove(&h, top);
        EXPECT_EQ(0, top->index);
    }
    EXPECT_EQ(want, got);
    rill_heap_free(&h);
}
